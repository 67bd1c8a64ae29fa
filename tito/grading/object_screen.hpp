#pragma once
// Screening the compiled student object before it is linked into a hidden suite.
//
// The threat: a student who has read every released file writes C++ that runs inside the test
// process. What that code may reach is decided here, from the object the compiler produced (ELF,
// read with libelf), never from the source text:
//   - no code that runs before or after main: no .init_array / .preinit_array / .fini_array /
//     .ctors / .dtors / .init / .fini entries, no IFUNC resolvers (they run while the program
//     loads). The one exception is the static std::ios_base::Init object that GCC 12 puts in every
//     file including <iostream>: an initializer whose only references are that object's
//     constructor, destructor, __cxa_atexit and __dso_handle is accepted.
//   - no strong definition outside namespace tinytorch: a student cannot interpose a function of
//     libc, libstdc++, GoogleTest or the grading main by defining it;
//   - weak definitions (template instantiations, inline functions) outside tinytorch only in std::,
//     __gnu_cxx:: or nlohmann:: (or where the reference object of the same module has them too),
//     and never naming testing:: or the grader;
//   - no reference to a function that reaches a descriptor, a process, the dynamic linker or raw
//     system calls (write, send, dup, fork, exec*, kill, ptrace, dlsym, syscall, mprotect, ...),
//     nor to GoogleTest's or the grader's own symbols;
//   - no data placed in an executable section (machine code hidden in an array), no executable
//     stack request.
// Inline assembly is refused one step earlier, from the compiler's own assembly output
// (compile_screen.hpp).
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tito::grading {

namespace fs = std::filesystem;

struct ObjectSymbol {
  std::string name;       // as in the object (mangled)
  std::string demangled;  // readable, for messages and namespace checks
  bool weak = false;
};

/// What the screen needs to know of one relocatable object.
struct ObjectFacts {
  fs::path file;
  std::vector<ObjectSymbol> defined;   // global and weak definitions
  std::vector<std::string> undefined;  // referenced, not defined (mangled)
  std::vector<std::string> problems;   // found while reading: a refusal each
};

/// Reads `object` (an ELF relocatable file). Throws TitoError when it cannot be read as one.
[[nodiscard]] ObjectFacts read_object(const fs::path& object);

struct ObjectVerdict {
  std::optional<std::string> refusal;  // set: the module scores 0 with this reason
};

/// Screens a student's object against the reference object of the same file (the solution built
/// in the same tree) and the strong definitions of every other object of the library (`elsewhere`:
/// the framework and the other modules, which a submission may not replace). `shown` names the
/// student's file in messages.
[[nodiscard]] ObjectVerdict screen_object(const ObjectFacts& student, const ObjectFacts* reference,
                                          const std::set<std::string>* elsewhere,
                                          const std::string& shown);

/// The strong global definitions of every member of a static library except `skip_members`
/// (member names, e.g. "tensor.cpp.o").
[[nodiscard]] std::set<std::string> archive_definitions(const fs::path& archive,
                                                        const std::set<std::string>& skip_members);

/// "tinytorch::Tensor::add(...)" for a mangled name; the name itself when it is not mangled.
[[nodiscard]] std::string demangle(const std::string& name);

}  // namespace tito::grading
