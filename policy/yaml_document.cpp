// The document level shared by the policy and admin configuration loaders:
// raw-text guards, one YAML document, the root map and its version, and
// bounded file reading. Every yaml-cpp exception is caught here.

#include "policy/yaml_document.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "policy/printable.hpp"
#include "policy/text_guard.hpp"

namespace jobwarden::policy::detail {
namespace {

constexpr int k_supported_version = 1;

std::string str(std::string_view s) { return std::string(s); }

// Reports a missing or malformed version. False when the file is written for
// another version: then its other keys mean nothing to us and are not read.
bool check_version(YamlReader& r, const YAML::Node& root, const DocumentKind& kind) {
  for (auto it = root.begin(); it != root.end(); ++it) {
    r.visit();
    if (!it->first.IsScalar() || it->first.Scalar() != "version") continue;
    const Entry e{"version", it->first, it->second, str(kind.where)};
    const auto number = it->second.IsScalar() ? parse_integer(it->second.Scalar()) : std::nullopt;
    if (!number) {
      r.value_error(
          e, "expected " + std::to_string(k_supported_version) + ", got " + describe(it->second));
      return true;
    }
    if (*number == k_supported_version) return true;
    r.error(it->second, "unsupported " + str(kind.noun) + " version " + it->second.Scalar() +
                            " (this jobwarden reads version 1)");
    return false;
  }
  r.error(root, "missing 'version: 1' (required: the " + str(kind.noun) + " format's version)");
  return true;
}

void build_root(YamlReader& r, const YAML::Node& root, const DocumentKind& kind,
                const BuildRoot& build) {
  if (!root.IsMap()) {
    r.error(root, "expected a map starting with 'version: 1', got " + describe(root));
    return;
  }
  if (check_version(r, root, kind)) build(r, root);
}

// yaml-cpp's own exceptions, with their 0-based marks.
void report_yaml_exception(YamlReader& r, const YAML::Exception& ex, const DocumentKind& kind) {
  if (dynamic_cast<const YAML::DeepRecursion*>(&ex) != nullptr) {
    r.error_at(ex.mark, "nesting too deep for " + str(kind.a_noun) + " file");
  } else {
    // yaml-cpp's messages may quote the text (an escape, an anchor's name).
    r.error_at(ex.mark, "YAML syntax error: " + printable(ex.msg, 2 * k_max_quoted));
  }
}

// Counts the documents of a stream; only the start marks matter.
class DocumentCounter final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The start marks of the first two documents (at most). Why not
// YAML::LoadAll: in yaml-cpp 0.7 a stray ',' at document level makes it loop
// forever, allocating a null document per turn (jbeder/yaml-cpp#1040, fixed
// upstream after 0.8.0): HandleNextDocument reports a document without
// consuming the token. Asking for two documents at most bounds that loop.
std::vector<YAML::Mark> first_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
  }
  return std::move(counter.starts);
}

// True unless a line of `text` could make yaml-cpp start a second document
// or end the first: a directive (`%`) or a document marker (`---`, `...`) at
// column 0 — the scanner acts on those only at column 0, and only after a
// '\n' (its column count restarts nowhere else). A first `---` before any
// content (only blank and comment lines above it) opens the first document
// and is allowed. Conservative: a marker inside a quoted scalar also says no.
bool free_of_document_boundaries(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // the BOM the stream skips
  bool content_seen = false;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    const bool marker = line.substr(0, 3) == "---" || line.substr(0, 3) == "..." || line.substr(0, 1) == "%";
    if (marker && (content_seen || line.substr(0, 3) != "---")) return false;
    const std::size_t first = line.find_first_not_of(' ');
    if (marker || (first != std::string_view::npos && line[first] != '#')) content_seen = true;
    start = end + 1;
  }
  return true;
}

// True when `root`, the first document as YAML::Load read it, must also be
// the last one of a text free of document boundaries: a block map whose
// first key is a scalar at column 0 has indentation 0, so no later token can
// end it by dedenting, and any token it cannot hold makes the parser throw
// ("end of map not found") instead of leaving it for a next document.
// Anything else (a flow map, a null key, an indented map) says "count".
bool ends_with_the_text(const YAML::Node& root) {
  if (!root.IsMap() || root.Style() != YAML::EmitterStyle::Block || root.begin() == root.end()) return false;
  const YAML::Node first_key = root.begin()->first;
  return first_key.IsScalar() && first_key.Mark().column == 0;
}

// Exactly one document. The common case is parsed once: YAML::Load (which
// reads the first document only) and the two checks above prove there is no
// second. Otherwise the documents are counted first (first_documents), then
// the first is loaded. The checks were compared with the counting path on
// ~3 million mutated policies (same verdict, same tree and marks, same
// exception every time) before they were trusted.
void parse_and_build(YamlReader& r, const std::string& text, const DocumentKind& kind,
                     const BuildRoot& build) {
  if (free_of_document_boundaries(text)) {
    YAML::Node root = YAML::Load(text);
    if (ends_with_the_text(root)) {
      build_root(r, root, kind, build);
      return;
    }
  }
  const std::vector<YAML::Mark> starts = first_documents(text);
  if (starts.empty()) {
    r.error_at(YAML::Mark(),
               "empty " + str(kind.noun) + ": expected a map starting with 'version: 1'");
  } else if (starts.size() > 1 &&
             text.compare(static_cast<std::size_t>(starts[1].pos), 3, "---") != 0) {
    // Not a `---` document: a token the parser could not place, e.g. the
    // stray ',' of the yaml-cpp bug above.
    r.error_at(starts[1], "YAML syntax error: unexpected text (a stray ','?)");
  } else if (starts.size() > 1) {
    r.error_at(starts[1],
               "a second YAML document: " + str(kind.a_noun) + " file holds exactly one");
  } else {
    build_root(r, YAML::Load(text), kind, build);
  }
}

std::optional<TextProblem> check_text(std::string_view text, const DocumentKind& kind) {
  if (auto p = find_encoding_problem(text, kind.a_noun)) return p;
  return find_layout_problem(text, kind.a_noun);
}

}  // namespace

std::vector<PolicyError> load_document(std::string_view text, const std::string& file,
                                       const DocumentKind& kind, const BuildRoot& build) {
  if (text.size() > k_max_policy_bytes) {
    return {{file, 0, 0,
             "the " + str(kind.noun) + " is " + std::to_string(text.size()) +
                 " bytes; at most 1 MiB is read"}};
  }
  if (auto problem = check_text(text, kind)) {
    return {{file, problem->line, problem->column, problem->message}};
  }
  YamlReader r(file, kind.a_noun);
  try {
    parse_and_build(r, std::string(text), kind, build);
  } catch (const YAML::Exception& ex) {
    report_yaml_exception(r, ex, kind);
  } catch (const LoadAborted&) {
    // the reader has recorded why
  }
  return r.take_errors();
}

Result<std::string, PolicyError> read_bounded_file(const std::string& path, const DocumentKind& kind) {
  const auto unreadable = [&](const std::string& why) {
    return unexpected(PolicyError{path, 0, 0, "cannot read the " + str(kind.noun) + " file: " + why});
  };
  try {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) return unreadable(errno != 0 ? std::generic_category().message(errno) : "open failed");
    std::string text(k_max_policy_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return unreadable("read error (is it a directory?)");
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > k_max_policy_bytes) {
      return unexpected(PolicyError{path, 0, 0, "the " + str(kind.noun) + " file is larger than 1 MiB"});
    }
    return text;
  } catch (const std::exception& ex) {
    return unreadable(ex.what());
  }
}

}  // namespace jobwarden::policy::detail
