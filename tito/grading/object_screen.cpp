#include "grading/object_screen.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "core/errors.hpp"

namespace tito::grading {

namespace {

/// Functions whose only use in a tested module would be to reach outside it: a descriptor the
/// test did not open (the result channel), another process, the dynamic linker, raw system calls
/// or the protection of memory. Path-based file access is not here: modules 08, 10 and 11 read
/// and write files, and the sandbox decides what a path can reach.
const std::set<std::string_view>& denied_functions() {
  static const std::set<std::string_view> names = {
      // descriptors
      "write", "writev", "pwrite", "pwrite64", "pwritev", "pwritev2", "send", "sendto", "sendmsg",
      "sendmmsg", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "dup",
      "dup2", "dup3", "fcntl", "fcntl64", "ioctl", "close", "close_range", "closefrom", "fdopen",
      "gzdopen", "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
      "shutdown", "pipe", "pipe2", "memfd_create",
      // processes
      "fork", "vfork", "_Fork", "clone", "clone3", "execve", "execv", "execvp", "execvpe", "execl",
      "execlp", "execle", "fexecve", "execveat", "posix_spawn", "posix_spawnp", "system", "popen",
      "daemon", "setsid", "setpgid", "setpgrp", "kill", "killpg", "tgkill", "tkill", "sigqueue",
      "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "ptrace", "process_vm_readv",
      "process_vm_writev", "prctl", "seccomp", "unshare", "setns", "chroot", "pivot_root", "mount",
      "umount", "umount2", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
      "setgroups",
      // the dynamic linker and raw system calls
      "syscall", "dlopen", "dlmopen", "dlsym", "dlvsym", "dladdr", "dladdr1", "dlinfo",
      "dl_iterate_phdr", "getauxval",
      // memory protection: code written at run time
      "mprotect", "pkey_mprotect", "mmap", "mmap64", "mremap"};
  return names;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

/// The outermost name of a mangled C++ symbol: "tinytorch", "std", "__gnu_cxx", "testing", "::"
/// for an entity at global scope, or "" when the name is not mangled (a C symbol).
std::string top_scope(std::string_view name) {
  if (!starts_with(name, "_Z")) return "";
  std::string_view s = name.substr(2);
  // Special names wrap an encoding: vtables, typeinfo, guards, TLS wrappers, local entities.
  for (bool again = true; again;) {
    again = false;
    for (std::string_view p : {"TV", "TI", "TS", "TT", "GV", "TW", "TH", "Z"}) {
      if (starts_with(s, p)) {
        s.remove_prefix(p.size());
        again = true;
      }
    }
    if (starts_with(s, "Th") || starts_with(s, "Tv")) {  // thunks: offsets, then the encoding
      const std::size_t underscores = starts_with(s, "Th") ? 1 : 2;
      s.remove_prefix(2);
      for (std::size_t k = 0; k < underscores && !s.empty();) {
        if (s.front() == '_') ++k;
        s.remove_prefix(1);
      }
      again = true;
    }
  }
  const bool nested = starts_with(s, "N");
  if (nested) {
    s.remove_prefix(1);
    while (!s.empty() && (s.front() == 'r' || s.front() == 'V' || s.front() == 'K' ||
                          s.front() == 'R' || s.front() == 'O')) {
      s.remove_prefix(1);
    }
  }
  if (starts_with(s, "St")) return "std";
  for (std::string_view p : {"Sa", "Sb", "Ss", "Si", "So", "Sd"}) {
    if (starts_with(s, p)) return "std";
  }
  if (!nested) return "::";
  std::size_t length = 0;
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') {
    length = length * 10 + static_cast<std::size_t>(s[digits] - '0');
    ++digits;
  }
  if (digits == 0 || digits + length > s.size()) return "::";
  return std::string(s.substr(digits, length));
}

bool names_the_harness(const std::string& demangled) {
  return demangled.find("testing::") != std::string::npos ||
         demangled.find("tito::") != std::string::npos ||
         demangled.find("grading") != std::string::npos;
}

/// The verdict on one undefined reference, or nothing when it is allowed.
std::optional<std::string> denied_reference(const std::string& name) {
  const std::string readable = demangle(name);
  const std::string scope = top_scope(name);
  if (scope.empty()) {
    if (denied_functions().count(name) > 0) {
      return fmt::format("calls `{}`, which reaches outside the tested code", name);
    }
    if ((starts_with(name, "__libc_") && name != "__libc_single_threaded") ||
        starts_with(name, "_dl_")) {
      return fmt::format("uses the C library's internal `{}`", name);
    }
    return std::nullopt;
  }
  if (scope == "testing" || scope == "tito" || names_the_harness(readable)) {
    return fmt::format("uses `{}`, part of the test harness", readable);
  }
  if (readable.find("stdio_filebuf") != std::string::npos ||
      readable.find("stdio_sync_filebuf") != std::string::npos ||
      readable.find("sys_open(int") != std::string::npos ||
      readable.find("sys_open(_IO_FILE") != std::string::npos) {
    return fmt::format("uses `{}`, which writes to a descriptor the test did not open", readable);
  }
  return std::nullopt;
}

// ---- reading the ELF object ------------------------------------------------------------------

struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  ElfFile() = default;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile() {
    if (elf != nullptr) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
};

struct Section {
  std::string name;
  GElf_Shdr header{};
  Elf_Scn* scn = nullptr;
};

struct Relocation {
  std::string target;  // symbol name, or the section's name for a section symbol
  std::uint64_t type = 0;
  std::int64_t addend = 0;
};

/// GCC 12 gives every file that includes <iostream> one initializer: construct the static
/// std::ios_base::Init object and register its destructor. That, and nothing else, may run
/// before main.
bool only_iostream_initializer(const std::vector<Relocation>& startup, std::uint64_t startup_size,
                               std::size_t init_entries) {
  static const std::set<std::string> allowed = {
      "_ZNSt8ios_base4InitC1Ev", "_ZNSt8ios_base4InitD1Ev", "__cxa_atexit", "__dso_handle", ".bss",
      "_ZStL8__ioinit"};
  if (init_entries != 1 || startup_size > 64 || startup.size() > 6) return false;
  bool constructs = false;
  for (const auto& r : startup) {
    if (allowed.count(r.target) == 0) return false;
    constructs = constructs || r.target == "_ZNSt8ios_base4InitC1Ev";
  }
  return constructs;
}

}  // namespace

std::string demangle(const std::string& name) {
  if (!starts_with(name, "_Z")) return name;
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> text(
      abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && text ? std::string(text.get()) : name;
}

ObjectFacts read_object(const fs::path& object) {
  if (elf_version(EV_CURRENT) == EV_NONE) throw TitoError("libelf is not usable");
  ElfFile f;
  f.fd = ::open(object.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw TitoError(fmt::format("cannot read the object {}", object.string()));
  f.elf = elf_begin(f.fd, ELF_C_READ, nullptr);
  GElf_Ehdr ehdr{};
  if (f.elf == nullptr || elf_kind(f.elf) != ELF_K_ELF || gelf_getehdr(f.elf, &ehdr) == nullptr ||
      ehdr.e_type != ET_REL) {
    throw TitoError(fmt::format("{} is not an ELF relocatable object", object.string()));
  }
  std::size_t strings = 0;
  if (elf_getshdrstrndx(f.elf, &strings) != 0) {
    throw TitoError(fmt::format("{}: no section name table", object.string()));
  }
  std::vector<Section> sections(1);  // index 0 is the null section
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(f.elf, scn)) != nullptr;) {
    Section s;
    s.scn = scn;
    gelf_getshdr(scn, &s.header);
    const char* name = elf_strptr(f.elf, strings, s.header.sh_name);
    s.name = name != nullptr ? name : "";
    sections.resize(std::max<std::size_t>(sections.size(), elf_ndxscn(scn) + 1));
    sections[elf_ndxscn(scn)] = std::move(s);
  }

  ObjectFacts facts;
  facts.file = object;
  // Symbols, kept by index for the relocations.
  std::vector<std::string> symbol_names;
  std::vector<GElf_Sym> symbols;
  for (const auto& s : sections) {
    if (s.header.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(s.scn, nullptr);
    const std::size_t count = s.header.sh_entsize > 0 ? s.header.sh_size / s.header.sh_entsize : 0;
    for (std::size_t i = 0; data != nullptr && i < count; ++i) {
      GElf_Sym sym{};
      gelf_getsym(data, static_cast<int>(i), &sym);
      const char* raw = elf_strptr(f.elf, s.header.sh_link, sym.st_name);
      std::string name = raw != nullptr ? raw : "";
      if (GELF_ST_TYPE(sym.st_info) == STT_SECTION && sym.st_shndx < sections.size()) {
        name = sections[sym.st_shndx].name;
      }
      symbol_names.push_back(name);
      symbols.push_back(sym);
    }
  }
  // Relocations, by the section they patch.
  std::map<std::size_t, std::vector<Relocation>> relocations;
  for (const auto& s : sections) {
    if (s.header.sh_type != SHT_RELA) continue;
    Elf_Data* data = elf_getdata(s.scn, nullptr);
    const std::size_t count = s.header.sh_entsize > 0 ? s.header.sh_size / s.header.sh_entsize : 0;
    for (std::size_t i = 0; data != nullptr && i < count; ++i) {
      GElf_Rela rela{};
      gelf_getrela(data, static_cast<int>(i), &rela);
      const std::size_t index = GELF_R_SYM(rela.r_info);
      relocations[s.header.sh_info].push_back(
          {index < symbol_names.size() ? symbol_names[index] : "?", GELF_R_TYPE(rela.r_info),
           rela.r_addend});
    }
  }

  // Sections: code that runs before or after main, code outside .text, an executable stack.
  bool gnu_stack = false;
  std::size_t init_entries = 0;
  std::size_t startup_index = 0;
  for (std::size_t i = 1; i < sections.size(); ++i) {
    const Section& s = sections[i];
    const auto type = s.header.sh_type;
    if (s.name == ".note.GNU-stack") {
      gnu_stack = true;
      if ((s.header.sh_flags & SHF_EXECINSTR) != 0) {
        facts.problems.push_back("asks for an executable stack");
      }
    }
    if (s.name == ".text.startup") startup_index = i;
    if (type == SHT_INIT_ARRAY || s.name == ".init_array" || starts_with(s.name, ".init_array.")) {
      init_entries += s.header.sh_size / 8;
    } else if (type == SHT_PREINIT_ARRAY || type == SHT_FINI_ARRAY || s.name == ".ctors" ||
               s.name == ".dtors" || s.name == ".init" || s.name == ".fini" ||
               starts_with(s.name, ".fini_array") || starts_with(s.name, ".preinit_array") ||
               starts_with(s.name, ".ctors.") || starts_with(s.name, ".dtors.")) {
      facts.problems.push_back(
          fmt::format("has a section {} (code that runs before or after main)", s.name));
    } else if ((s.header.sh_flags & SHF_EXECINSTR) != 0 && !starts_with(s.name, ".text")) {
      facts.problems.push_back(fmt::format("has executable code in a section named {}", s.name));
    }
  }
  if (!gnu_stack) facts.problems.push_back("lacks the .note.GNU-stack marker (executable stack)");
  if (init_entries > 0) {
    const auto& startup = relocations[startup_index];
    const std::uint64_t size = startup_index > 0 ? sections[startup_index].header.sh_size : 0;
    if (!only_iostream_initializer(startup, size, init_entries)) {
      facts.problems.push_back(
          "runs code before main (a constructor function, or a global variable with a dynamic "
          "initializer): compute it inside a function instead, e.g. a function-local static");
    }
  }

  // Symbols: what is defined, what is referenced.
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    const GElf_Sym& sym = symbols[i];
    const std::string& name = symbol_names[i];
    const int type = GELF_ST_TYPE(sym.st_info);
    const int bind = GELF_ST_BIND(sym.st_info);
    if (type == STT_GNU_IFUNC) {
      facts.problems.push_back(
          fmt::format("defines `{}` as an IFUNC (its resolver runs while the "
                      "program loads)",
                      demangle(name)));
    }
    const bool in_section = sym.st_shndx != SHN_UNDEF && sym.st_shndx < sections.size();
    if (type == STT_OBJECT && in_section &&
        (sections[sym.st_shndx].header.sh_flags & SHF_EXECINSTR) != 0) {
      facts.problems.push_back(fmt::format("puts the data `{}` in an executable section ({})",
                                           demangle(name), sections[sym.st_shndx].name));
    }
    if (name.empty() || (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)) {
      continue;
    }
    if (sym.st_shndx == SHN_UNDEF) {
      facts.undefined.push_back(name);
      continue;
    }
    ObjectSymbol out;
    out.name = name;
    out.demangled = demangle(name);
    out.weak = bind == STB_WEAK || bind == STB_GNU_UNIQUE;
    facts.defined.push_back(std::move(out));
  }
  return facts;
}

std::set<std::string> archive_definitions(const fs::path& archive,
                                          const std::set<std::string>& skip_members) {
  if (elf_version(EV_CURRENT) == EV_NONE) throw TitoError("libelf is not usable");
  ElfFile f;
  f.fd = ::open(archive.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw TitoError(fmt::format("cannot read the library {}", archive.string()));
  f.elf = elf_begin(f.fd, ELF_C_READ, nullptr);
  if (f.elf == nullptr || elf_kind(f.elf) != ELF_K_AR) {
    throw TitoError(fmt::format("{} is not a static library", archive.string()));
  }
  std::set<std::string> out;
  Elf_Cmd command = ELF_C_READ;
  for (Elf* member = nullptr; (member = elf_begin(f.fd, command, f.elf)) != nullptr;) {
    const Elf_Arhdr* header = elf_getarhdr(member);
    const bool skip = header == nullptr || header->ar_name == nullptr ||
                      skip_members.count(header->ar_name) > 0 || elf_kind(member) != ELF_K_ELF;
    for (Elf_Scn* scn = nullptr; !skip && (scn = elf_nextscn(member, scn)) != nullptr;) {
      GElf_Shdr sh{};
      gelf_getshdr(scn, &sh);
      if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      for (std::size_t i = 0; data != nullptr && i < sh.sh_size / sh.sh_entsize; ++i) {
        GElf_Sym sym{};
        gelf_getsym(data, static_cast<int>(i), &sym);
        if (sym.st_shndx == SHN_UNDEF || GELF_ST_BIND(sym.st_info) != STB_GLOBAL) continue;
        if (const char* name = elf_strptr(member, sh.sh_link, sym.st_name)) out.insert(name);
      }
    }
    command = elf_next(member);
    elf_end(member);
  }
  return out;
}

ObjectVerdict screen_object(const ObjectFacts& student, const ObjectFacts* reference,
                            const std::set<std::string>* elsewhere, const std::string& shown) {
  ObjectVerdict verdict;
  const auto refuse = [&](const std::string& why) {
    verdict.refusal =
        fmt::format("{} {}: refused (a submission may hold only its module's code)", shown, why);
  };
  if (!student.problems.empty()) {
    refuse(student.problems.front());
    return verdict;
  }
  std::set<std::string> theirs;
  if (reference != nullptr) {
    for (const auto& s : reference->defined) theirs.insert(s.name);
  }
  for (const auto& s : student.defined) {
    const std::string scope = top_scope(s.name);
    if (elsewhere != nullptr && elsewhere->count(s.name) > 0) {
      refuse(
          fmt::format("defines `{}`, which the framework or another module already defines: "
                      "a submission may not replace code outside its module",
                      s.demangled));
      return verdict;
    }
    if (scope == "tinytorch" && !names_the_harness(s.demangled)) continue;
    if (starts_with(s.name, "DW.ref.")) continue;  // the exception personality's weak pointer
    const bool in_reference = theirs.count(s.name) > 0;
    if (!s.weak) {
      refuse(fmt::format(
          "defines `{}` outside namespace tinytorch (it could replace a function of the C or C++ "
          "library, GoogleTest or the grader); put your helpers in namespace tinytorch or in an "
          "anonymous namespace",
          s.demangled));
      return verdict;
    }
    if (names_the_harness(s.demangled) || scope == "testing" || scope == "tito") {
      refuse(fmt::format("defines `{}`, which belongs to the test harness", s.demangled));
      return verdict;
    }
    if (scope != "std" && scope != "__gnu_cxx" && scope != "nlohmann" && !in_reference) {
      refuse(fmt::format("defines the weak symbol `{}` outside namespace tinytorch", s.demangled));
      return verdict;
    }
  }
  for (const auto& name : student.undefined) {
    if (auto why = denied_reference(name)) {
      refuse(*why);
      return verdict;
    }
  }
  return verdict;
}

}  // namespace tito::grading
