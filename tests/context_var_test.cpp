// context_var: Python's ContextVar rules.
#include <catch2/catch.hpp>

#include <new>
#include <string>
#include <thread>

#include "dedup/context_var.hpp"

TEST_CASE("context_var get, set and reset") {
  dedup::context_var<std::string> name("name", "none");
  CHECK(name.get() == "none");
  auto t1 = name.set("first");
  auto t2 = name.set("second");
  CHECK(name.get() == "second");
  CHECK(t2.old_value() == "first");
  name.reset(t2);
  CHECK(name.get() == "first");
  name.reset(t1);
  CHECK(name.get() == "none");
  CHECK_FALSE(t1.old_value().has_value());
}

TEST_CASE("context_var without a default throws until set, and get(fallback) does not") {
  dedup::context_var<int> level("level");
  CHECK_THROWS_AS(level.get(), dedup::usage_error);
  CHECK(level.get(7) == 7);
  auto t = level.set(3);
  CHECK(level.get() == 3);
  CHECK(level.get(7) == 3);
  level.reset(t);
  CHECK_THROWS_AS(level.get(), dedup::usage_error);
}

TEST_CASE("a token resets once") {
  dedup::context_var<int> v("v", 0);
  auto t = v.set(1);
  auto copy = t;
  v.reset(t);
  CHECK_THROWS_WITH(v.reset(t), Catch::Contains("already been used"));
  CHECK_THROWS_AS(v.reset(copy), dedup::usage_error);
}

TEST_CASE("a token resets only in the context it was made in") {
  dedup::context_var<int> v("v", 0);
  auto outside = v.set(1);
  {
    dedup::scope s;
    CHECK(v.get() == 1);  // a fresh scope starts with the values current when it opened
    CHECK_THROWS_WITH(v.reset(outside), Catch::Contains("another context"));
    auto inside = v.set(2);
    CHECK(v.get() == 2);
    v.reset(inside);
    CHECK(v.get() == 1);
    v.set(5);
  }
  CHECK(v.get() == 1);  // changes inside the scope did not leak out
  v.reset(outside);
  CHECK(v.get() == 0);
}

TEST_CASE("a token of one variable does not reset another") {
  dedup::context_var<int> a("a", 0), b("b", 0);
  auto t = a.set(1);
  CHECK_THROWS_WITH(b.reset(t), Catch::Contains("another variable"));
  a.reset(t);
}

TEST_CASE("threads joined to one context see its values; other threads do not") {
  dedup::context_var<int> v("v", 0);
  dedup::scope s;
  v.set(42);
  auto ctx = dedup::current();
  int joined = -1, alone = -1;
  std::thread([&] {
    dedup::scope j{ctx};
    joined = v.get();
  }).join();
  std::thread([&] { alone = v.get(); }).join();
  CHECK(joined == 42);
  CHECK(alone == 0);
}

namespace {
/// Room for one context_var of either type, so that a new variable can be made exactly where a
/// destroyed one lived.
union var_storage {
  var_storage() {}
  ~var_storage() {}
  dedup::context_var<int> as_int;
  dedup::context_var<std::string> as_string;
};
}  // namespace

TEST_CASE("a variable made where a destroyed one lived does not see its value",
          "[context_var_identity]") {
  var_storage storage;
  auto* first = new (&storage.as_int) dedup::context_var<int>("first");
  auto token = first->set(42);
  first->~context_var();

  auto* same_type = new (&storage.as_int) dedup::context_var<int>("same_type");
  CHECK(same_type->get(-1) == -1);
  CHECK_THROWS_WITH(same_type->reset(token), Catch::Contains("another variable"));
  same_type->~context_var();

  auto* other_type = new (&storage.as_string) dedup::context_var<std::string>("other_type");
  CHECK(other_type->get("fallback") == "fallback");
  CHECK_THROWS_AS(other_type->get(), dedup::usage_error);
  other_type->~context_var();
}
