#include "ui/about/FirstStartNotice.h"

#include <QCryptographicHash>
#include <QDialogButtonBox>
#include <QLabel>
#include <QRegularExpression>
#include <QSettings>
#include <QVBoxLayout>

namespace lowbit::ui {
namespace {

constexpr auto kDismissedKey = "firstStart/dismissedNotices";

// Seen once, the notices stay dismissed until they change: a new GPU or driver names another version, but free
// memory, which differs at every start, does not count as a change.
QString fingerprint(const QStringList& notices) {
  QString facts = notices.join(QLatin1Char('\n'));
  facts.remove(QRegularExpression(QStringLiteral("[0-9]+(\\.[0-9]+)? ?[KMGT]iB")));
  return QString::fromLatin1(QCryptographicHash::hash(facts.toUtf8(), QCryptographicHash::Sha1).toHex());
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
  text += tr("</ul><p>Everything still works on the CPU. Help → System information shows these facts again; this note "
            "comes back only when they change.</p>");
  auto* label = new QLabel(text, this);
  label->setObjectName(QStringLiteral("firstStartText"));
  label->setWordWrap(true);
  label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  label->setMinimumWidth(520);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok, this);
  layout->addWidget(label);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(this, &QDialog::finished, this, [this] { QSettings().setValue(QString::fromLatin1(kDismissedKey), fingerprint(m_notices)); });
}

}  // namespace lowbit::ui
