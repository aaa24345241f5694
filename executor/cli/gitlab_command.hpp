#pragma once
// `jobwarden gitlab config|prepare|run|cleanup`: the GitLab Runner custom
// executor driver (docs/gitlab.md). Exit codes follow
// the runner's contract: 0 ok, 1 build failure (real code in
// BUILD_EXIT_CODE_FILE), 2 system failure.

#include <string>

namespace jobwarden::cli {

struct GitlabArgs {
  std::string admin_config;  // "": /etc/jobwarden/config.yaml
  std::string script;        // run: the runner's script file
  std::string stage;         // run: the sub-stage name
};

int gitlab_config(const GitlabArgs& args);
int gitlab_prepare(const GitlabArgs& args);
int gitlab_run(const GitlabArgs& args);
int gitlab_cleanup(const GitlabArgs& args);

}  // namespace jobwarden::cli
