// The message of the InputError `fn` throws; a test failure (and "") when it throws something else or nothing.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "core/util/errors.h"

namespace lowbit::testing {

template <typename Fn>
std::string input_error_message(Fn&& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected InputError, nothing was thrown";
  return "";
}

}  // namespace lowbit::testing

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)
