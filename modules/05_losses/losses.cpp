// Placeholder while the module is written.
#include "tinytorch/losses.hpp"
