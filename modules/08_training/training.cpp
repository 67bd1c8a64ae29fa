// Placeholder while the module is written.
#include "tinytorch/training.hpp"
