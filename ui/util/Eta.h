// How the app writes a time left: "1:05", "2 h 07 min", "estimating…" while core has no estimate yet.
#pragma once

#include <QObject>
#include <QString>

#include <cmath>

namespace lowbit::ui {

inline QString formatEta(double seconds) {
  if (seconds < 0) return QObject::tr("estimating…");
  const auto total = static_cast<qint64>(std::llround(seconds));
  if (total >= 3600) return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace lowbit::ui
