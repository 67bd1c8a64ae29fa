#include "tinytorch/tensor.hpp"
