// lowbit-studio: the desktop app. Builds the main window and hands control to Qt's event loop.
#include <QApplication>
#include <QCommandLineParser>
#include <cstdio>
#include <QIcon>

#include "core/version.h"
#include "ui/main/MainWindow.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("LowBit Studio"));
  QApplication::setOrganizationName(QStringLiteral("LowBit"));
  QApplication::setApplicationVersion(QString::fromLatin1(lowbit::kLowBitVersion));
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/lowbit.png")));
  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("LowBit Studio"));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption page(QStringLiteral("page"), QStringLiteral("Open this page first: %1.")
                                                           .arg(lowbit::ui::MainWindow::pageNames().join(QStringLiteral(", "))),
                                QStringLiteral("name"));
  parser.addOption(page);
  parser.process(app);
  lowbit::ui::MainWindow window;
  if (parser.isSet(page)) {
    const int index = lowbit::ui::MainWindow::pageNames().indexOf(parser.value(page));
    if (index < 0) {
      std::fprintf(stderr, "lowbit-studio: unknown page '%s'; the pages are %s\n", qPrintable(parser.value(page)),
                   qPrintable(lowbit::ui::MainWindow::pageNames().join(QStringLiteral(", "))));
      return 2;
    }
    window.showPage(index);
  }
  window.show();
  window.checkSystemAtStart();
  return QApplication::exec();
}
