// A path typed or picked: the line edit beside a "Browse…" button that opens the platform's file or folder
// dialog (objectName: the field's + "Browse"). Picking fills the field, which then runs the same checks as typing.
#pragma once

#include <QFileDialog>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QWidget>

namespace lowbit::ui {

enum class PathKind { Folder, File, AppendFolder };  // AppendFolder: adds to a ';'-separated stack

inline QWidget* withBrowseButton(QLineEdit* field, PathKind kind, const QString& caption, const QString& filter = QString()) {
  auto* row = new QWidget(field->parentWidget());
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* browse = new QPushButton(QObject::tr("Browse…"), row);
  browse->setObjectName(field->objectName() + QStringLiteral("Browse"));
  layout->addWidget(field, 1);
  layout->addWidget(browse);
  QObject::connect(browse, &QPushButton::clicked, field, [field, kind, caption, filter] {
    const QString current = field->text().section(QLatin1Char(';'), -1).trimmed();
    const QString picked = kind == PathKind::File ? QFileDialog::getOpenFileName(field, caption, current, filter)
                                                  : QFileDialog::getExistingDirectory(field, caption, current);
    if (picked.isEmpty()) return;
    if (kind == PathKind::AppendFolder && !field->text().trimmed().isEmpty()) {
      field->setText(field->text().trimmed() + QStringLiteral(";") + picked);
    } else {
      field->setText(picked);
    }
  });
  return row;
}

}  // namespace lowbit::ui
