// Stand-in for gloo's header of this name: see native/gloo_decls/README.md.
#pragma once
#include "../gloo_decls.h"
