import React, { useState } from "react";
import type { Props } from "./types";

interface ButtonProps extends Props {
  label: string;
}

export const Button: React.FC<ButtonProps> = ({ label }) => {
  const [pressed, setPressed] = useState<boolean>(false);
  return <button onClick={() => setPressed(!pressed)}>{label}</button>;
};

export default function Page(): JSX.Element {
  return <Button label="go" />;
}
