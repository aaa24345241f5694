#pragma once
// The command line (README.md, "Usage"). Returns the process exit code; never
// throws (the caller still keeps a last catch-all, see main.cpp).

namespace jobwarden::cli {

int main_entry(int argc, char** argv);

}  // namespace jobwarden::cli
