"""Fund usage (资金使用): every payment of a project recorded by staff, published with charts and CSV."""
