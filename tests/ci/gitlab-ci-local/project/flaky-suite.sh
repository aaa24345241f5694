#!/bin/sh
# Fails the first time it runs in a checkout, passes the second time.
if [ -e .flaky-marker ]; then
  echo "suite passed on the second attempt"
else
  touch .flaky-marker
  echo "suite failed: lost a race"
  exit 9
fi
