// dedup/context_var.hpp: a variable whose value belongs to the current context, like Python's
// contextvars.ContextVar.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "dedup/context.hpp"
#include "dedup/error.hpp"

namespace dedup {

/// A variable with one value per context, following Python's `ContextVar`: `set` changes it in the
/// current context only and returns a token; `reset(token)` restores the value from before that
/// `set`; a token resets once, and only in the context it was made in (else `usage_error`). A fresh
/// scope starts with the values current when it opened and its changes do not leak out. Outside
/// every scope each thread has a context of its own for these values.
///
/// ```
/// dedup::context_var<std::string> run_name("run_name", "none");
/// auto token = run_name.set("w_2026_47");
/// assert(run_name.get() == "w_2026_47");
/// run_name.reset(token);
/// assert(run_name.get() == "none");
/// ```
template <class T>
class context_var {
 public:
  /// The receipt of one `set`, needed to undo it. Copies share the one-use rule.
  class token {
   public:
    /// The value before the `set`, or nullopt if the variable had none.
    std::optional<T> old_value() const {
      return state_->old ? std::optional<T>(*std::static_pointer_cast<const T>(state_->old))
                         : std::nullopt;
    }

   private:
    friend class context_var;
    struct state {
      std::uint64_t var_id;
      std::uint64_t context_id;
      std::shared_ptr<const void> old;
      std::atomic<bool> used{false};
    };
    std::shared_ptr<state> state_;
  };

  /// Each variable gets an identity of its own, never reused, even by a variable constructed later
  /// in the same storage.
  explicit context_var(std::string name) : name_(std::move(name)) {}
  context_var(std::string name, T default_value)
      : name_(std::move(name)), default_(std::move(default_value)) {}
  context_var(const context_var&) = delete;
  context_var& operator=(const context_var&) = delete;

  const std::string& name() const noexcept { return name_; }

  /// The value in the current context, else the default; `usage_error` if there is neither.
  T get() const {
    if (auto v = lookup()) return *v;
    if (default_) return *default_;
    throw usage_error("dedup::context_var '" + name_ + "' has no value and no default");
  }

  /// The value in the current context, else `fallback` (the variable's own default is not used).
  T get(T fallback) const {
    if (auto v = lookup()) return *v;
    return fallback;
  }

  /// Sets the value in the current context and returns the token that undoes it.
  token set(T value) {
    context& ctx = detail::var_context();
    auto fresh = std::make_shared<const T>(std::move(value));
    token t;
    t.state_ = std::make_shared<typename token::state>();
    t.state_->var_id = id_;
    t.state_->context_id = ctx.id();
    std::lock_guard lock(ctx.vars_mutex_);
    auto& slot = ctx.vars_[id_];
    t.state_->old = std::exchange(slot, std::move(fresh));
    return t;
  }

  /// Restores the value from before the `set` that made `t`.
  void reset(const token& t) {
    if (!t.state_ || t.state_->var_id != id_)
      throw usage_error("dedup::context_var '" + name_ + "': token was made by another variable");
    context& ctx = detail::var_context();
    if (t.state_->context_id != ctx.id())
      throw usage_error("dedup::context_var '" + name_ + "': token was made in another context");
    if (t.state_->used.exchange(true))
      throw usage_error("dedup::context_var '" + name_ + "': token has already been used");
    std::lock_guard lock(ctx.vars_mutex_);
    if (t.state_->old)
      ctx.vars_[id_] = t.state_->old;
    else
      ctx.vars_.erase(id_);
  }

 private:
  std::shared_ptr<const T> lookup() const {
    context& ctx = detail::var_context();
    std::lock_guard lock(ctx.vars_mutex_);
    auto it = ctx.vars_.find(id_);
    return it == ctx.vars_.end() ? nullptr : std::static_pointer_cast<const T>(it->second);
  }

  std::string name_;
  std::optional<T> default_;
  std::uint64_t id_ = detail::next_unique_id();
};

}  // namespace dedup
