// The page shown for a part of the product that this version does not have yet. It says so plainly and names
// what will be there, so nobody mistakes an empty screen for a broken one.
#pragma once

#include <QWidget>

namespace lowbit::ui {

class UpcomingFeaturePage : public QWidget {
  Q_OBJECT

 public:
  UpcomingFeaturePage(const QString& title, const QString& purpose, const QString& commandLine,
                      QWidget* parent = nullptr);
};

}  // namespace lowbit::ui
