#pragma once
// The command line's own definitions (CLI11's tree of commands and options),
// rendered for the documents generated at build time, so that the manual
// page and the shell completion can never disagree with the parser:
//
//   jobwarden --markdown-reference  SYNOPSIS, COMMANDS and ENVIRONMENT of
//                                   jobwarden(1), as pandoc Markdown
//   jobwarden --bash-completion     the bash completion script
//
// Both flags are hidden from --help (they are for the build, not for users).

#include <string>

namespace CLI {
class App;
}

namespace jobwarden::cli {

std::string markdown_reference(const CLI::App& app);
std::string bash_completion(const CLI::App& app);

// Adds the two hidden flags to `app`: each prints its document on stdout
// and ends parsing with exit status 0 (like --help).
void add_reference_flags(CLI::App& app);

}  // namespace jobwarden::cli
