// A small file exercising every definition and include form we extract.
#include <vector>
#include "engine/core.hpp"

#define LOG(msg) log_line(msg)

namespace engine {
namespace detail {

constexpr int kMaxDepth = 8;

}  // namespace detail

using Names = std::vector<std::string>;

template <typename T>
class Container : public Base {
public:
    Container();
    explicit Container(int size);
    ~Container();

    void push(const T& value);
    int size() const { return size_; }
    bool operator==(const Container& other) const;

    static Container* create();

private:
    int size_ = 0;
    T* data_;
};

struct Point {
    double x, y;
    double norm() const;
};

enum class Mode { Fast, Slow };

template <typename T>
void Container<T>::push(const T& value) {
    data_[size_++] = value;
}

double Point::norm() const {
    return x * x + y * y;
}

}  // namespace engine

int main() {
    engine::Container<int> c;
    c.push(engine::detail::kMaxDepth);
    return 0;
}
