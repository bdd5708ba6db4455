// The one way the app shows a failure from core: a window-modal message box with the actionable message (what
// file, what is wrong, what to do), opened without a nested event loop so that running jobs keep reporting and
// tests can find it by objectName ("errorDialog") and read it.
#pragma once

#include <QMessageBox>
#include <QString>
#include <QWidget>

namespace lowbit::ui {

inline QMessageBox* showError(QWidget* parent, const QString& message, const QString& title = QString()) {
  auto* box = new QMessageBox(QMessageBox::Warning, title.isEmpty() ? QObject::tr("LowBit Studio") : title, message,
                              QMessageBox::Ok, parent);
  box->setObjectName(QStringLiteral("errorDialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->setTextInteractionFlags(Qt::TextSelectableByMouse);
  box->open();
  return box;
}

}  // namespace lowbit::ui
