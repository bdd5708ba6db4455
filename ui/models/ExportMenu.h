// The three ways out of LowBit, offered the same way wherever a model can be exported (a model card's stacks on
// the Models page, a finished run's dashboard): a merged Hugging Face folder, or a GGUF file with an Ollama
// Modelfile in Q8_0 or Q4_0 (ModelsPage::exportStack does the work).
#pragma once

#include <QMenu>
#include <QMetaType>
#include <QObject>

#include <functional>

namespace lowbit::ui {

enum class ExportFormat { HuggingFace, GgufQ8_0, GgufQ4_0 };

inline void addExportActions(QMenu* menu, const std::function<void(ExportFormat)>& chosen) {
  menu->addAction(QObject::tr("Hugging Face folder (fp16, for transformers)"),
                  [chosen] { chosen(ExportFormat::HuggingFace); });
  menu->addAction(QObject::tr("GGUF Q8_0 + Ollama Modelfile (llama.cpp, Ollama, LM Studio)"),
                  [chosen] { chosen(ExportFormat::GgufQ8_0); });
  menu->addAction(QObject::tr("GGUF Q4_0 + Ollama Modelfile (smaller; rounds the weights again)"),
                  [chosen] { chosen(ExportFormat::GgufQ4_0); });
}

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(lowbit::ui::ExportFormat)
