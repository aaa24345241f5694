// Renders CLI11's command tree (see cli_reference.hpp). Hidden options and
// commands (empty group) are left out, like --help does.

#include "executor/cli/cli_reference.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>
#include <sstream>
#include <string_view>
#include <vector>

namespace jobwarden::cli {
namespace {

// One command of the tree with its path: {"policy", "explain"}.
struct Command {
  std::vector<std::string> path;
  const CLI::App* app;

  std::string joined(const char* separator = " ") const {
    std::string out;
    for (const auto& p : path) out += (out.empty() ? "" : separator) + p;
    return out;
  }
};

void collect(const CLI::App* app, std::vector<std::string> path, std::vector<Command>& out) {
  out.push_back({path, app});
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); })) {
    auto child = path;
    child.push_back(sub->get_name());
    collect(sub, child, out);
  }
}

std::vector<Command> commands(const CLI::App& app) {
  std::vector<Command> out;
  collect(&app, {}, out);
  return out;
}

std::vector<const CLI::Option*> visible(const CLI::App* app, bool positional) {
  return app->get_options([positional](const CLI::Option* o) {
    return !o->get_group().empty() && o->nonpositional() != positional;
  });
}

// Flags have no type name ("TEXT", "INT", ...).
bool takes_value(const CLI::Option* o) { return !o->get_type_name().empty(); }

// The choices of an IsMember check ("TEXT:{a,b,c}" -> "a b c"), "" if none.
std::string choices(const CLI::Option* o) {
  const std::string type = o->get_type_name();
  const auto open = type.find('{');
  const auto close = type.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return "";
  std::string out = type.substr(open + 1, close - open - 1);
  for (char& c : out) {
    if (c == ',') c = ' ';
  }
  return out;
}

// Pandoc Markdown text: every ASCII punctuation character escaped, so that
// nothing in a description is read as markup ("--" stays two hyphens).
std::string md(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::ispunct(static_cast<unsigned char>(c)) != 0) out += '\\';
    out += c;
  }
  return out;
}

// A description as a sentence: with a final full stop.
std::string sentence(const std::string& text) {
  const bool ends = !text.empty() && std::string_view(".!?").find(text.back()) != std::string_view::npos;
  return md(ends ? text : text + ".");
}

std::string option_names(const CLI::Option* o) {
  std::string out;
  for (const auto& s : o->get_snames()) out += (out.empty() ? "" : ", ") + ("**" + md("-" + s) + "**");
  for (const auto& l : o->get_lnames()) out += (out.empty() ? "" : ", ") + ("**" + md("--" + l) + "**");
  return out;
}

std::string value_name(const CLI::Option* o) {
  const std::string type = o->get_type_name();
  const std::string c = choices(o);
  return c.empty() ? type.substr(0, type.find(':')) : "{" + c + "}";
}

std::string positional_name(const CLI::Option* o) {
  const bool many = o->get_items_expected_max() > 1;
  const std::string name = "*" + md(o->get_name(true)) + "*" + (many ? md("...") : "");
  return o->get_required() ? name : md("[") + name + md("]");
}

void synopsis_line(std::ostream& out, const Command& c) {
  out << "| **jobwarden**";
  for (const auto& p : c.path) out << " **" << md(p) << "**";
  if (!visible(c.app, false).empty()) out << " " << md("[") << "*OPTIONS*" << md("]");
  const auto positionals = visible(c.app, true);
  for (const auto* p : positionals) {
    // A command line given as the arguments (run's CMD [ARG...]) goes after "--".
    if (p->get_items_expected_max() > 1) out << " " << md("--");
    out << " " << positional_name(p);
  }
  out << "\n";
}

void option_entry(std::ostream& out, const CLI::Option* o) {
  out << option_names(o);
  if (takes_value(o)) out << " *" << md(value_name(o)) << "*";
  out << "\n:   " << sentence(o->get_description());
  if (!o->get_envname().empty()) out << " Environment: **" << md(o->get_envname()) << "**\\.";
  out << "\n\n";
}

void command_section(std::ostream& out, const Command& c) {
  out << "## " << md(c.path.empty() ? "jobwarden" : "jobwarden " + c.joined()) << "\n\n";
  if (!c.app->get_description().empty()) out << sentence(c.app->get_description()) << "\n\n";
  for (const auto* p : visible(c.app, true)) {
    out << positional_name(p) << "\n:   " << sentence(p->get_description())
        << (p->get_required() ? " Required\\." : "") << "\n\n";
  }
  for (const auto* o : visible(c.app, false)) option_entry(out, o);
}

bool is_leaf(const Command& c) {
  return c.app->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }).empty();
}

// `declare -gA NAME=( [key]="words" ...)`: -g because bash-completion
// sources this file from inside a function.
void bash_table(std::ostream& out, const char* name, const std::vector<std::pair<std::string, std::string>>& rows) {
  out << "declare -gA " << name << "=(\n";
  for (const auto& [key, words] : rows) out << "  [\"" << key << "\"]=\"" << words << "\"\n";
  out << ")\n";
}

constexpr std::string_view k_completion_function = R"(
# Completes the command path first (options and their values are skipped),
# then the options, the choices or file names of an option's value, or the
# subcommands of the command reached. After `--`, a command line.
_jobwarden() {
  local cur prev words cword
  _init_completion -s || return  # -s: --opt=value is split
  local path=jobwarden i w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    if [[ $w == -- ]]; then
      _command_offset $((i + 1))
      return
    fi
    if [[ $w == -* ]]; then
      [[ " ${_jobwarden_valued[$path]} " == *" $w "* ]] && ((i++))
      continue
    fi
    if [[ " ${_jobwarden_subcommands[$path]} " == *" $w "* ]]; then
      path="$path $w"
    fi
  done
  if [[ $prev == -* && " ${_jobwarden_valued[$path]} " == *" $prev "* ]]; then
    local values=${_jobwarden_choices["$path $prev"]}
    if [[ -n $values ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
    else
      _filedir
    fi
    return
  fi
  if [[ $cur == -* || -z ${_jobwarden_subcommands[$path]} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${_jobwarden_options[$path]}" -- "$cur")
    [[ $cur != -* ]] && _filedir
  else
    mapfile -t COMPREPLY < <(compgen -W "${_jobwarden_subcommands[$path]}" -- "$cur")
  fi
}
complete -F _jobwarden jobwarden
)";

}  // namespace

std::string markdown_reference(const CLI::App& app) {
  const auto all = commands(app);
  std::ostringstream out;
  out << "# SYNOPSIS\n\n";
  for (const auto& c : all) {
    if (is_leaf(c)) synopsis_line(out, c);
  }
  out << "| **jobwarden** **\\-\\-help** \\| **\\-\\-version**\n\n# COMMANDS\n\n";
  for (const auto& c : all) command_section(out, c);
  out << "# ENVIRONMENT\n\n";
  for (const auto& c : all) {
    for (const auto* o : visible(c.app, false)) {
      if (o->get_envname().empty()) continue;
      out << "**" << md(o->get_envname()) << "**\n:   " << md("The default of --" + o->get_lnames().front() + " (")
          << "**" << md(c.joined()) << "**" << md("): ") << sentence(o->get_description()) << "\n\n";
    }
  }
  return out.str();
}

std::string bash_completion(const CLI::App& app) {
  std::vector<std::pair<std::string, std::string>> subcommands, options, valued, values;
  for (const auto& c : commands(app)) {
    // Keyed "jobwarden", "jobwarden policy", ...: bash arrays refuse an empty key.
    const std::string path = c.path.empty() ? "jobwarden" : "jobwarden " + c.joined();
    std::string subs, opts, with_value;
    for (const auto* s : c.app->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); })) {
      subs += (subs.empty() ? "" : " ") + s->get_name();
    }
    for (const auto* o : visible(c.app, false)) {
      for (const auto& l : o->get_lnames()) {
        opts += (opts.empty() ? "--" : " --") + l;
        if (!takes_value(o)) continue;
        with_value += (with_value.empty() ? "--" : " --") + l;
        if (const auto ch = choices(o); !ch.empty()) values.emplace_back(path + " --" + l, ch);
      }
    }
    if (!subs.empty()) subcommands.emplace_back(path, subs);
    options.emplace_back(path, opts);
    if (!with_value.empty()) valued.emplace_back(path, with_value);
  }
  std::ostringstream out;
  out << "# bash completion for jobwarden(1). Generated from the command line's own\n"
         "# definitions at build time (jobwarden --bash-completion): do not edit.\n";
  bash_table(out, "_jobwarden_subcommands", subcommands);
  bash_table(out, "_jobwarden_options", options);
  bash_table(out, "_jobwarden_valued", valued);
  bash_table(out, "_jobwarden_choices", values);
  out << k_completion_function;
  return out.str();
}

void add_reference_flags(CLI::App& app) {
  const auto print = [&app](std::string (*render)(const CLI::App&)) {
    std::cout << render(app) << std::flush;
    throw CLI::Success();
  };
  app.add_flag_callback("--markdown-reference", [print] { print(markdown_reference); })->group("");
  app.add_flag_callback("--bash-completion", [print] { print(bash_completion); })->group("");
}

}  // namespace jobwarden::cli
