// "1 record", "2 records": a count with its noun, for every count the app shows.
#pragma once

#include <QString>

namespace lowbit::ui {

inline QString countOf(qint64 count, const QString& one, const QString& many) {
  return QStringLiteral("%1 %2").arg(count).arg(count == 1 ? one : many);
}

}  // namespace lowbit::ui
