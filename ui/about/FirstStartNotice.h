// What the app tells at start when this computer cannot run LowBit on its GPU as it is: no NVIDIA driver, a
// driver too old for CUDA 13 (older than 580), a GPU older than Turing (sm_75), too little free GPU memory
// (core/system/system_info.h: first_start_notices). Each notice says what to do; the app stays usable on the
// CPU. "Don't show this again" holds until the notices change (a new GPU, a driver update that was not enough).
#pragma once

#include <QDialog>
#include <QStringList>

class QCheckBox;

namespace lowbit::ui {

class FirstStartNotice : public QDialog {
  Q_OBJECT

 public:
  FirstStartNotice(const QStringList& notices, QWidget* parent = nullptr);
  // False when the user asked not to see these same notices again.
  static bool shouldShow(const QStringList& notices);

 private:
  QStringList m_notices;
  QCheckBox* m_dontShowAgain = nullptr;
};

}  // namespace lowbit::ui
