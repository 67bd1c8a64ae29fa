// Placeholder while the module is written.
#include "tinytorch/layers.hpp"
