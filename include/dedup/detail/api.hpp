// DEDUP_API: what makes dedup's process-wide state one copy per process, whatever the visibility
// the modules that include dedup are built with.
#pragma once

/// Marks the process-wide state (the current context, the scope stack, the type registry, the id
/// counter, the journal, the wait-for graph of pending builds) as exported: a library built with
/// `-fvisibility=hidden` then shares the program's copy instead of keeping one of its own, so a
/// scope opened in one module is current in all of them and a type has one table slot everywhere.
///
/// ```namespace
/// DEDUP_API inline thread_local int shared_by_every_module = 0;
/// ```
#ifndef DEDUP_API
#define DEDUP_API __attribute__((visibility("default")))
#endif
