/* Death tests for the unit tests: misuse must trip an assert (debug builds).
 * expect_abort runs fn in a forked child and expects it to die by SIGABRT;
 * under NDEBUG (release builds, asserts compiled out) the test is skipped.
 * Include after <cmocka.h>. */
#ifndef MOQC_TEST_DEATH_H
#define MOQC_TEST_DEATH_H

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void expect_abort(void (*fn)(void)) {
#ifdef NDEBUG
  (void)fn;
  skip();
#else
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fn();
    _exit(0); /* not reached when the assert fires */
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGABRT);
#endif
}

#endif
