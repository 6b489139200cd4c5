import React from "react";
import { Button } from "./components/Button";

export function App({ title }) {
  const [count, setCount] = React.useState(0);
  return (
    <div className="app">
      <Header title={title} />
      <Button onClick={() => setCount(count + 1)}>{count}</Button>
    </div>
  );
}

const Header = ({ title }) => <h1>{title}</h1>;

class Legacy extends React.Component {
  render() {
    return <App title="legacy" />;
  }
}
