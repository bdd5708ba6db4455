// Which process this is and whether another one still runs: a run folder names the process that trains in it,
// so the app can tell a run going on in a terminal (follow it live) from one whose process died (it crashed).
#pragma once

#include <cstdint>

namespace lowbit::system {

int64_t current_process_id();

// True while a process with this id exists. An id the system has since given to another program also reads as
// alive; run folders pair the id with the time the run last wrote, which makes that case rare enough to show.
bool process_is_alive(int64_t pid);

}  // namespace lowbit::system
