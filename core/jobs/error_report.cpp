#include "core/jobs/error_report.h"

#include <c10/util/Exception.h>

#include <cerrno>
#include <exception>
#include <filesystem>
#include <new>

#include "core/util/errors.h"

namespace lowbit::jobs {

ErrorReport describe_current_exception() {
  try {
    throw;
  } catch (const Cancelled& e) {
    return {ErrorKind::Cancelled, "cancelled", e.what(), kExitCancelled};
  } catch (const UsageError& e) {
    return {ErrorKind::Usage, e.what(), e.what(), kExitUsage};
  } catch (const InputError& e) {
    return {ErrorKind::Input, e.what(), e.what(), kExitInput};
  } catch (const ResourceError& e) {
    return {ErrorKind::Resource, e.what(), e.what(), kExitResource};
  } catch (const NetworkError& e) {
    return {ErrorKind::Network, e.what(), e.what(), kExitNetwork};
  } catch (const InternalError& e) {
    return {ErrorKind::Internal, std::string("internal error (please report it): ") + e.what(), e.what(),
            kExitInternal};
  } catch (const Error& e) {
    return {ErrorKind::Unknown, e.what(), e.what(), kExitInternal};
  } catch (const c10::OutOfMemoryError& e) {
    return {ErrorKind::Resource,
            "not enough GPU memory: " + std::string(e.what_without_backtrace()) +
                " (lower the micro-batch size or sequence length, or close other programs using the GPU)",
            e.what(), kExitResource};
  } catch (const c10::Error& e) {
    return {ErrorKind::Internal, std::string("LibTorch error: ") + e.what_without_backtrace(), e.what(),
            kExitInternal};
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the operating system refuses (a loop of links, a file where a folder should be, no permission, a
    // full disk) is the user's or the machine's to fix, not a bug: say which path and why.
    const std::string path = e.path1().empty() ? std::string() : e.path1().string() + ": ";
    const int code = e.code().value();
    if (code == ENOSPC || code == EDQUOT || code == EROFS) {
      return {ErrorKind::Resource, path + e.code().message() + " (free some space or choose another folder, then try again)",
              e.what(), kExitResource};
    }
    return {ErrorKind::Input,
            path + e.code().message() + " (check the path: it must be a folder or file you can read, and write for --out)",
            e.what(), kExitInput};
  } catch (const std::bad_alloc& e) {
    return {ErrorKind::Resource, "not enough memory (RAM); close other programs or use a smaller model",
            e.what(), kExitResource};
  } catch (const std::exception& e) {
    return {ErrorKind::Internal, std::string("unexpected error (please report it): ") + e.what(), e.what(),
            kExitInternal};
  } catch (...) {
    return {ErrorKind::Internal, "unexpected error of unknown type (please report it)", "non-std exception",
            kExitInternal};
  }
}

}  // namespace lowbit::jobs
