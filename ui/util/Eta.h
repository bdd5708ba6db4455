// How the app writes a time left: core's format_duration ("3 min 05 s", "2 h 07 min"), or "estimating…" while
// core has no estimate yet.
#pragma once

#include <QObject>
#include <QString>

#include "core/util/format.h"

namespace lowbit::ui {

inline QString formatEta(double seconds) {
  if (seconds < 0) return QObject::tr("estimating…");
  return QString::fromStdString(format_duration(seconds));
}

}  // namespace lowbit::ui
