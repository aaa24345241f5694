// jw-tree-helper: builds the process trees that the platform and e2e tests
// supervise. Every process it creates announces itself on stdout with
// "ready <pid> <role>" once it is set up, and the main process prints
// "all-ready <n>" once every member has announced itself, so tests wait on
// a handshake, never on a sleep.
//
// Usage: jw-tree-helper [OPTIONS] SCENARIO [ARG]
//   scenarios:
//     grandchild        main -> child -> grandchild, all sleeping
//     setsid            main -> child that calls setsid(), sleeping
//     double-fork       main -> child -> grandchild; the child exits, the
//                       orphaned grandchild calls setsid() and sleeps
//     stopped           main -> child -> grandchild that SIGSTOPs itself
//     holder            main -> background child holding stdout; main exits 0
//     wide N            main -> N sleeping children, every 4th in its own session
//     exit N            exit with code N
//     signal N          die of signal N
//     binary N          write N deterministic pseudo-random bytes, no newline, exit 0
//     spin              busy-loop forever (a CPU-bound step)
//     sleep             sleep forever (a hung step)
//     alloc N           allocate and touch N MiB, then print "allocated" and exit 0
//     tick N            wake every N ms and do nothing else (ppoll with only a
//                       timeout): what merely waking that often costs on this
//                       host, the floor under jobwarden's sampling (bench/)
//   options:
//     --ignore-term     every member ignores SIGTERM
//     --main-exits N    after all-ready, the main process exits with N
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

bool g_ignore_term = false;
int g_ready_pipe[2] = {-1, -1};

void say(const std::string& line) {
  const std::string text = line + "\n";
  (void)!write(1, text.data(), text.size());
}

[[noreturn]] void sleep_forever() {
  for (;;) pause();
}

void setup_member() {
  if (g_ignore_term) signal(SIGTERM, SIG_IGN);
}

// Announces member `pid` (this process by default) as ready.
void announce(const char* role, pid_t pid = getpid()) {
  say("ready " + std::to_string(pid) + " " + role);
  const char byte = 'r';
  (void)!write(g_ready_pipe[1], &byte, 1);
}

// Forks a member that runs `body` and never returns to the caller's code.
template <typename Body>
pid_t fork_member(Body body) {
  const pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    _exit(90);
  }
  if (pid == 0) {
    setup_member();
    body();
    _exit(0);
  }
  return pid;
}

void wait_ready(int count) {
  close(g_ready_pipe[1]);
  char byte;
  for (int got = 0; got < count;) {
    const ssize_t n = read(g_ready_pipe[0], &byte, 1);
    if (n == 1) ++got;
    else if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  say("all-ready " + std::to_string(count));
}

int scenario(const std::string& name, long arg) {
  if (name == "grandchild") {
    fork_member([] {
      fork_member([] { announce("grandchild"); sleep_forever(); });
      announce("child");
      sleep_forever();
    });
    return 2;
  }
  if (name == "setsid") {
    fork_member([] { setsid(); announce("setsid-child"); sleep_forever(); });
    return 1;
  }
  if (name == "double-fork") {
    fork_member([] {
      const pid_t parent = getpid();
      fork_member([parent] {
        // Until orphaned: reparented to the nearest subreaper (or init).
        while (getppid() == parent) usleep(1000);
        setsid();
        announce("orphan");
        sleep_forever();
      });
      _exit(0);
    });
    return 1;
  }
  if (name == "stopped") {
    fork_member([] {
      // Announced by its parent once it has stopped (it cannot speak while
      // stopped): whoever acts on all-ready finds it stopped.
      const pid_t grandchild = fork_member([] { raise(SIGSTOP); sleep_forever(); });
      int status = 0;
      while (waitpid(grandchild, &status, WUNTRACED) < 0 && errno == EINTR) {
      }
      announce("stopped-grandchild", grandchild);
      announce("child");
      sleep_forever();
    });
    return 2;
  }
  if (name == "wide") {
    for (long i = 0; i < arg; ++i) {
      fork_member([i] { if (i % 4 == 0) setsid(); announce("wide"); sleep_forever(); });
    }
    return static_cast<int>(arg);
  }
  return -1;
}

void write_binary(long n) {
  unsigned int x = 12345;
  char buf[4096];
  while (n > 0) {
    const long chunk = n < static_cast<long>(sizeof buf) ? n : static_cast<long>(sizeof buf);
    for (long i = 0; i < chunk; ++i) {
      x = x * 1103515245u + 12345u;
      buf[i] = static_cast<char>(x >> 16);
    }
    (void)!write(1, buf, static_cast<size_t>(chunk));
    n -= chunk;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int main_exit = -1;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    if (std::strcmp(argv[i], "--ignore-term") == 0) g_ignore_term = true;
    else if (std::strcmp(argv[i], "--main-exits") == 0 && i + 1 < argc) main_exit = std::atoi(argv[++i]);
  }
  if (i >= argc) {
    std::fprintf(stderr, "usage: jw-tree-helper [--ignore-term] [--main-exits N] SCENARIO [ARG]\n");
    return 2;
  }
  const std::string name = argv[i];
  const long arg = i + 1 < argc ? std::atol(argv[i + 1]) : 0;
  setup_member();
  if (name == "exit") return static_cast<int>(arg);
  if (name == "signal") {
    signal(static_cast<int>(arg), SIG_DFL);
    raise(static_cast<int>(arg));
    return 99;
  }
  if (name == "binary") {
    write_binary(arg);
    return 0;
  }
  if (name == "spin") {
    say("ready " + std::to_string(getpid()) + " spinner");
    unsigned long n = 0;
    for (;;) {
      n = n * 31 + 7;
      asm volatile("" : : "r"(n));  // keeps the loop from being optimised away
    }
  }
  if (name == "alloc") {
    say("ready " + std::to_string(getpid()) + " allocator");
    constexpr std::size_t k_mib = 1 << 20;
    std::vector<std::unique_ptr<char[]>> blocks;  // freed on return: no leak for LeakSanitizer
    for (long mib = 0; mib < arg; ++mib) {
      blocks.emplace_back(new (std::nothrow) char[k_mib]);
      if (blocks.back() == nullptr) return 3;
      std::memset(blocks.back().get(), 1, k_mib);  // touched: charged to the memory cgroup
    }
    say("allocated");
    return 0;
  }
  if (name == "tick") {
    say("ready " + std::to_string(getpid()) + " ticker");
    const timespec every{arg / 1000, (arg % 1000) * 1'000'000};
    for (;;) (void)ppoll(nullptr, 0, &every, nullptr);
  }
  if (name == "sleep") {
    say("ready " + std::to_string(getpid()) + " sleeper");
    sleep_forever();
  }
  if (pipe(g_ready_pipe) != 0) return 91;
  if (name == "holder") {
    fork_member([] { announce("holder"); sleep_forever(); });
    wait_ready(1);
    return 0;
  }
  const int members = scenario(name, arg);
  if (members < 0) {
    std::fprintf(stderr, "jw-tree-helper: unknown scenario '%s'\n", name.c_str());
    return 2;
  }
  wait_ready(members);
  if (main_exit >= 0) return main_exit;
  sleep_forever();
}
