#pragma once
// The two kinds of failure tito reports; main maps them to exit statuses and prints the message.
#include <stdexcept>

namespace tito {

/// A problem the user can fix (missing file, refused action, failed build). Exit status 1.
class TitoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A bad command line (unknown module, malformed argument). Exit status 2.
class UsageError : public TitoError {
 public:
  using TitoError::TitoError;
};

}  // namespace tito
