// QCustomPlot for a target built with QT_NO_KEYWORDS: its header still says `signals:` and `foreach`, so they
// are spelled as Qt's Q_ macros for the length of that one include.
#pragma once

#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef foreach
#undef emit
#undef slots
#undef signals
