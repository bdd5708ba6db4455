// What the app tells at start when this computer cannot run LowBit on its GPU as it is: no NVIDIA driver, a
// driver too old for CUDA 13 (older than 580), a GPU older than Turing (sm_75), too little free GPU memory
// (core/system/system_info.h: first_start_notices). Each notice says what to do; the app stays usable on the
// CPU. Once closed it stays away until the notices change (a new GPU, a driver update that was not enough).
#pragma once

#include <QDialog>
#include <QStringList>

namespace lowbit::ui {

class FirstStartNotice : public QDialog {
  Q_OBJECT

 public:
  FirstStartNotice(const QStringList& notices, QWidget* parent = nullptr);
  // False when these notices (free memory aside) were shown and closed before.
  static bool shouldShow(const QStringList& notices);

 private:
  QStringList m_notices;
};

}  // namespace lowbit::ui
