// Placeholder while the module is written.
#include "tinytorch/activations.hpp"
