// Placeholder while the module is written.
#include "tinytorch/optimizers.hpp"
