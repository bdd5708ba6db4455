// The app shows every run as the `lowbit` command that does the same, so that it can be repeated in a terminal.
// The arguments come from core's settings schemas (core/util/settings_schema.h); this only quotes them.
#pragma once

#include <QString>
#include <QStringList>

#include <string>
#include <vector>

namespace lowbit::ui {

// A path or value as one shell argument: quoted when it holds a space, a quote or nothing at all.
inline QString shellArgument(const QString& text) {
  if (!text.isEmpty() && !text.contains(QLatin1Char(' ')) && !text.contains(QLatin1Char('"')) &&
      !text.contains(QLatin1Char('\t'))) {
    return text;
  }
  QString quoted = text;
  quoted.replace(QLatin1Char('"'), QStringLiteral("\\\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

// {"correct", "q", "--steps", "20"} → "lowbit correct q --steps 20".
inline QString shellCommand(const std::vector<std::string>& arguments) {
  QStringList words{QStringLiteral("lowbit")};
  for (const std::string& argument : arguments) words << shellArgument(QString::fromStdString(argument));
  return words.join(QLatin1Char(' '));
}

}  // namespace lowbit::ui
