// The training curves of a run: which records become lines, in which panel, named how.
#include "curves.hpp"

#include <string>

#include <gtest/gtest.h>

namespace {

using nlohmann::json;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(TrainingCurves, NothingWhenNoRecordHoldsALossOrAnAccuracy) {
  EXPECT_FALSE(milestones::training_curves_svg(json::array(), "x").has_value());
  const json records = {{{"epoch", 1}, {"lr", 0.1}, {"seconds", 2.0}}};
  EXPECT_FALSE(milestones::training_curves_svg(records, "x").has_value());
}

TEST(TrainingCurves, LossAndAccuracyGetAPanelEachSideBySide) {
  const json records = {{{"epoch", 1}, {"train_loss", 1.0}, {"test_accuracy", 0.5}},
                        {{"epoch", 2}, {"train_loss", 0.5}, {"test_accuracy", 0.7}}};
  const auto svg = milestones::training_curves_svg(records, "mnist");
  ASSERT_TRUE(svg.has_value());
  EXPECT_NE(svg->find(">mnist: loss by epoch</text>"), std::string::npos);
  EXPECT_NE(svg->find(">mnist: accuracy by epoch</text>"), std::string::npos);
  EXPECT_EQ(count(*svg, "<polyline"), 2U);
}

TEST(TrainingCurves, OneLinePerMetricOfAKindAndTheStepAsXWhenTheRunCountsSteps) {
  const json records = {{{"step", 100}, {"loss", 2.0}, {"val_loss", 2.2}, {"lr", 1e-3}},
                        {{"step", 200}, {"loss", 1.8}, {"val_loss", 2.0}, {"lr", 1e-3}}};
  const auto svg = milestones::training_curves_svg(records, "tinygpt");
  ASSERT_TRUE(svg.has_value());
  EXPECT_NE(svg->find(">tinygpt: loss by step</text>"), std::string::npos);
  EXPECT_NE(svg->find(">loss</text>"), std::string::npos);
  EXPECT_NE(svg->find(">val_loss</text>"), std::string::npos);
  EXPECT_EQ(svg->find("accuracy by"), std::string::npos);  // no accuracy panel
  EXPECT_EQ(count(*svg, "<polyline"), 2U);                 // lr is not a curve
}

TEST(TrainingCurves, AStringFieldSeparatesThePartsOrModelsIntoLines) {
  const json records = {{{"epoch", 1}, {"part", "by-hand"}, {"train_loss", 0.7}},
                        {{"epoch", 2}, {"part", "by-hand"}, {"train_loss", 0.5}},
                        {{"epoch", 1}, {"part", "autograd"}, {"train_loss", 0.7}},
                        {{"epoch", 2}, {"part", "autograd"}, {"train_loss", 0.5}}};
  const auto svg = milestones::training_curves_svg(records, "perceptron");
  ASSERT_TRUE(svg.has_value());
  EXPECT_NE(svg->find(">by-hand</text>"), std::string::npos);
  EXPECT_NE(svg->find(">autograd</text>"), std::string::npos);
  EXPECT_EQ(count(*svg, "<polyline"), 2U);
}

}  // namespace
