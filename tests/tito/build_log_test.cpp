// Reading a build's output for the student (tito/core/build_log.*), on GCC's and ninja's real text.
#include "core/build_log.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tito {
namespace {

// What `cmake --build build/student -- -k 0` printed for a course with a broken module 03 and a
// warning in module 01 (GCC 12; paths shortened).
constexpr const char* kOutput =
    R"([1/4] Building CXX object CMakeFiles/tt_03_activations_stub.dir/modules/03_activations/activations.cpp.o
FAILED: CMakeFiles/tt_03_activations_stub.dir/modules/03_activations/activations.cpp.o
ccache /usr/bin/c++ -I/c/build/student/include -O3 -DNDEBUG -Wall -Wextra -march=native -std=c++20 -MD -MT x.o -MF x.o.d -o x.o -c /c/modules/03_activations/activations.cpp
/c/modules/03_activations/activations.cpp: At global scope:
/c/modules/03_activations/activations.cpp:6:9: error: expected primary-expression before ';' token
    6 | int h = ;
      |         ^
[2/4] Building CXX object CMakeFiles/tt_01_setup_stub.dir/modules/01_setup/setup.cpp.o
/c/modules/01_setup/setup.cpp: In function 'int tinytorch::setup::probe(int)':
/c/modules/01_setup/setup.cpp:4:1: warning: control reaches end of non-void function [-Wreturn-type]
    4 | }
      | ^
[3/4] Building CXX object CMakeFiles/tt_framework.dir/kernels/gemm.cpp.o
/c/kernels/gemm.cpp:10:5: warning: unused variable 'k' [-Wunused-variable]
   10 | int k;
      |     ^
ninja: build stopped: subcommand failed.
)";

TEST(BuildLog, ErrorsAndWarningsAreBlocksNamingTheirFileAndModule) {
  const auto d = compiler_diagnostics(kOutput);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].kind, Diagnostic::Kind::error);
  EXPECT_EQ(d[0].file, "/c/modules/03_activations/activations.cpp");
  EXPECT_EQ(d[0].module_dir, "03_activations");
  EXPECT_NE(d[0].text.find("At global scope"), std::string::npos) << "the context line leads";
  EXPECT_NE(d[0].text.find("int h = ;"), std::string::npos) << "the source line follows";
  EXPECT_EQ(d[0].text.find("[2/4]"), std::string::npos) << "ninja's next line ends the block";
  EXPECT_EQ(d[1].kind, Diagnostic::Kind::warning);
  EXPECT_EQ(d[1].module_dir, "01_setup");
  EXPECT_NE(d[1].text.find("-Wreturn-type"), std::string::npos);
  EXPECT_EQ(d[2].module_dir, "") << "framework code is not a module's student file";
}

TEST(BuildLog, FirstErrorsLeaveOutCommandsAndWarnings) {
  const std::string first = first_errors(kOutput, 40);
  EXPECT_NE(first.find("error: expected primary-expression"), std::string::npos) << first;
  EXPECT_EQ(first.find("ccache"), std::string::npos) << "the compile command is noise" << first;
  EXPECT_EQ(first.find("-Wreturn-type"), std::string::npos) << first;
}

TEST(BuildLog, WithoutARecognisedErrorTheTailIsShown) {
  const std::string first = first_errors("line 1\nline 2\nCMake Error: no such preset\n", 2);
  EXPECT_EQ(first, "line 2\nCMake Error: no such preset\n");
}

TEST(BuildLog, LinkerErrorsAreErrors) {
  const auto d = compiler_diagnostics(
      "[5/5] Linking CXX executable tests/visible_01_setup\n"
      "FAILED: tests/visible_01_setup\n"
      "/usr/bin/ld: libtinytorch.a(setup.cpp.o): in function `f()':\n"
      "/c/modules/01_setup/setup.cpp:3: undefined reference to `g()'\n"
      "collect2: error: ld returned 1 exit status\n");
  ASSERT_GE(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Diagnostic::Kind::error);
  EXPECT_NE(d[0].text.find("undefined reference"), std::string::npos);
}

}  // namespace
}  // namespace tito
