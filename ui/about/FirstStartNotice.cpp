#include "ui/about/FirstStartNotice.h"

#include <QCheckBox>
#include <QCryptographicHash>
#include <QDialogButtonBox>
#include <QLabel>
#include <QSettings>
#include <QVBoxLayout>

namespace lowbit::ui {
namespace {

constexpr auto kDismissedKey = "firstStart/dismissedNotices";

// Notices name versions and free memory; dismissing them is remembered for this exact text.
QString fingerprint(const QStringList& notices) {
  return QString::fromLatin1(QCryptographicHash::hash(notices.join(QLatin1Char('\n')).toUtf8(), QCryptographicHash::Sha1).toHex());
}

}  // namespace

bool FirstStartNotice::shouldShow(const QStringList& notices) {
  return !notices.isEmpty() && QSettings().value(QString::fromLatin1(kDismissedKey)).toString() != fingerprint(notices);
}

FirstStartNotice::FirstStartNotice(const QStringList& notices, QWidget* parent) : QDialog(parent), m_notices(notices) {
  setObjectName(QStringLiteral("firstStartNotice"));
  setWindowTitle(tr("Before you start — LowBit Studio"));
  auto* layout = new QVBoxLayout(this);
  QString text = tr("<p>LowBit Studio checked this computer:</p><ul>");
  for (const QString& notice : notices) {
    QString sentence = notice.toHtmlEscaped();
    if (!sentence.isEmpty()) sentence[0] = sentence[0].toUpper();
    text += QStringLiteral("<li>%1.</li>").arg(sentence);
  }
  text += tr("</ul><p>Everything still works on the CPU. Help → System information shows these facts again.</p>");
  auto* label = new QLabel(text, this);
  label->setObjectName(QStringLiteral("firstStartText"));
  label->setWordWrap(true);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  label->setMinimumWidth(520);
  m_dontShowAgain = new QCheckBox(tr("Don't show this again (until something changes)"), this);
  m_dontShowAgain->setObjectName(QStringLiteral("dontShowAgain"));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok, this);
  layout->addWidget(label);
  layout->addWidget(m_dontShowAgain);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(this, &QDialog::finished, this, [this] {
    if (m_dontShowAgain->isChecked()) QSettings().setValue(QString::fromLatin1(kDismissedKey), fingerprint(m_notices));
  });
}

}  // namespace lowbit::ui
