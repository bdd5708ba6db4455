// lowbit-studio: the desktop app. Builds the main window and hands control to Qt's event loop.
#include <QApplication>
#include <QIcon>

#include "core/version.h"
#include "ui/main/MainWindow.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("LowBit Studio"));
  QApplication::setOrganizationName(QStringLiteral("LowBit"));
  QApplication::setApplicationVersion(QString::fromLatin1(lowbit::kLowBitVersion));
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/lowbit.png")));
  lowbit::ui::MainWindow window;
  window.show();
  return QApplication::exec();
}
