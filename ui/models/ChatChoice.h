// One thing the Chat page can load from the model library: a model and the adapters stacked on it, in load order,
// with the name a user reads ("int2 + correction (LREC) + fine-tune (EMEF)").
#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

namespace lowbit::ui {

struct ChatChoice {
  QString label;
  QString model;
  QStringList adapters;
};

}  // namespace lowbit::ui
