#pragma once
// The training curves of a milestone run as a picture: loss and accuracy by epoch (or step), drawn
// from the records the run kept (Run::end_epoch, Run::record) with the framework's SVG charts.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace milestones {

/// One panel per kind of metric found in the records: keys containing "loss", then keys
/// containing "accuracy"; other keys (lr, seconds, throughput) are not curves. A record's string
/// fields ("part", "model") name its line, so each part or model gets a line of its own. The x
/// axis is the record's `unit` ("epoch", "step"). Nothing when no record holds such a metric.
[[nodiscard]] std::optional<std::string> training_curves_svg(const nlohmann::json& records,
                                                             const std::string& title);

}  // namespace milestones
