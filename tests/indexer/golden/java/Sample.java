// A small file exercising every definition and import form we extract.
package com.acme.sample;

import java.util.List;
import java.util.concurrent.*;
import static java.lang.Math.max;

@Service
public class Sample<T> extends Base implements Runnable {
    public static final int LIMIT = 10;
    private final List<T> items, extra;

    public Sample(List<T> items) {
        this.items = items;
    }

    @Override
    public void run() {
        helper(max(LIMIT, items.size()));
    }

    private static int helper(int value) {
        return value;
    }

    static class Inner {
        void nested() {
            Runnable r = new Runnable() {
                public void run() {}
            };
        }
    }

    interface Callback {
        void call(String message);
    }

    enum Mode {
        FAST,
        SLOW;

        boolean isFast() { return this == FAST; }
    }

    record Pair(String left, String right) {}
}
