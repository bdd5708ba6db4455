// The app shows every run as the `lowbit` command that does the same, so that it can be repeated in a terminal.
#pragma once

#include <QString>

namespace lowbit::ui {

// A path or value as one shell argument (quoted when it holds a space).
inline QString shellArgument(const QString& text) {
  return text.contains(QLatin1Char(' ')) ? QLatin1Char('"') + text + QLatin1Char('"') : text;
}

}  // namespace lowbit::ui
