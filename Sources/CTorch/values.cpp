// Values (a tree of None, bool, int, double, string, tensor, list and string-keyed dict) and pickle files that
// torch.save writes and torch.load reads.
#include <torch/serialize.h>

#include <fstream>
#include <iterator>
#include <map>

#include "common.h"

using namespace ctorch;

struct ct_value_opaque {
  c10::IValue value;
  // The strings handed out by ct_value_to_string and ct_value_key, made once each: a pointer stays valid while the
  // handle lives, whatever is asked next (the value never changes).
  std::unique_ptr<std::string> text;
  std::map<int, std::string> keys;
};

static ct_value make(c10::IValue v) { return new ct_value_opaque{std::move(v), {}, {}}; }
// A guarded constructor of a value handle (NULL on failure).
#define CT_VALUE(expr) return guard<ct_value>(nullptr, [&]() -> ct_value { return expr; })
static const c10::IValue &V(ct_value v) {
  if (!v) throw std::invalid_argument("null value handle");
  return v->value;
}

extern "C" {

ct_value ct_value_none(void) { CT_VALUE(make(c10::IValue())); }
ct_value ct_value_bool(bool v) { CT_VALUE(make(c10::IValue(v))); }
ct_value ct_value_int(int64_t v) { CT_VALUE(make(c10::IValue(v))); }
ct_value ct_value_double(double v) { CT_VALUE(make(c10::IValue(v))); }
ct_value ct_value_string(const char *v) {
  CT_VALUE([&] {
    if (!v) throw std::invalid_argument("null string");
    return make(c10::IValue(std::string(v)));
  }());
}
ct_value ct_value_tensor(ct_tensor t) { CT_VALUE(make(c10::IValue(T(t)))); }
ct_value ct_value_list(const ct_value *items, int n) {
  return guard<ct_value>(nullptr, [&] {
    c10::impl::GenericList list(c10::AnyType::get());
    for (int i = 0; i < n; i++) list.push_back(V(items[i]));
    return make(c10::IValue(list));
  });
}
ct_value ct_value_dict(const char *const *keys, const ct_value *values, int n) {
  return guard<ct_value>(nullptr, [&] {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    for (int i = 0; i < n; i++) {
      if (!keys[i]) throw std::invalid_argument("null dict key");
      dict.insert_or_assign(std::string(keys[i]), V(values[i]));
    }
    return make(c10::IValue(dict));
  });
}
void ct_value_free(ct_value v) { delete v; }  // nothrow: a destructor

int ct_value_kind(ct_value v) {
  CT_COUNT([&] {
    const auto &x = V(v);
    if (x.isNone()) return CT_VALUE_NONE;
    if (x.isBool()) return CT_VALUE_BOOL;
    if (x.isInt()) return CT_VALUE_INT;
    if (x.isDouble()) return CT_VALUE_DOUBLE;
    if (x.isString()) return CT_VALUE_STRING;
    if (x.isTensor()) return CT_VALUE_TENSOR;
    if (x.isList() || x.isTuple()) return CT_VALUE_LIST;
    if (x.isGenericDict()) return CT_VALUE_DICT;
    return CT_VALUE_OTHER;
  }());
}
// IValue's toX throw c10::Error on a value of another kind: the guard turns that into -1 and its message.
int ct_value_to_bool(ct_value v, bool *out) { CT_STATUS(*out = V(v).toBool()); }
int ct_value_to_int(ct_value v, int64_t *out) { CT_STATUS(*out = V(v).toInt()); }
int ct_value_to_double(ct_value v, double *out) { CT_STATUS(*out = V(v).toDouble()); }
const char *ct_value_to_string(ct_value v) {
  return guard<const char *>(nullptr, [&] {
    const std::string &s = V(v).toStringRef();
    if (!v->text) v->text = std::make_unique<std::string>(s);
    return v->text->c_str();
  });
}
ct_tensor ct_value_to_tensor(ct_value v) { CT_HANDLE(wrap(V(v).toTensor())); }
int ct_value_count(ct_value v) {
  return guard<int>(-1, [&] {
    const auto &x = V(v);
    if (x.isList()) return (int)x.toListRef().size();
    if (x.isTuple()) return (int)x.toTupleRef().elements().size();
    if (x.isGenericDict()) return (int)x.toGenericDict().size();
    throw std::invalid_argument("value is neither a list nor a dict");
  });
}
ct_value ct_value_item(ct_value v, int i) {
  return guard<ct_value>(nullptr, [&] {
    const auto &x = V(v);
    if (x.isList()) return make(x.toListRef().at(i));
    if (x.isTuple()) return make(x.toTupleRef().elements().at(i));
    auto dict = x.toGenericDict();
    if (i < 0 || i >= (int)dict.size()) throw std::out_of_range("dict index out of range");
    return make(std::next(dict.begin(), i)->value());
  });
}
const char *ct_value_key(ct_value v, int i) {
  return guard<const char *>(nullptr, [&] {
    auto dict = V(v).toGenericDict();
    if (i < 0 || i >= (int)dict.size()) throw std::out_of_range("dict index out of range");
    auto cached = v->keys.find(i);
    if (cached != v->keys.end()) return cached->second.c_str();
    const auto key = std::next(dict.begin(), i)->key();
    if (!key.isString()) throw std::invalid_argument("dict key is not a string");
    return v->keys.emplace(i, key.toStringRef()).first->second.c_str();
  });
}

ct_buffer ct_pickle_dump(ct_value v) {
  return guard<ct_buffer>(nullptr, [&] {
    const std::vector<char> bytes = torch::pickle_save(V(v));
    return ctorch::make_buffer(std::string(bytes.begin(), bytes.end()));
  });
}
ct_value ct_pickle_load(const char *path) {
  return guard<ct_value>(nullptr, [&] {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw std::runtime_error(std::string("cannot open ") + path);
    // One read of the whole file (an istreambuf_iterator copy goes char by char: 2% of a short training run).
    std::vector<char> bytes((size_t)in.tellg());
    in.seekg(0);
    if (!in.read(bytes.data(), (std::streamsize)bytes.size()))
      throw std::runtime_error(std::string("failed to read ") + path);
    try {
      return make(torch::pickle_load(bytes));
    } catch (const c10::Error &e) {
      throw std::runtime_error(std::string(path) + " is not a readable torch pickle file: " +
                               e.what_without_backtrace());
    }
  });
}

}  // extern "C"
