/**
 * Places a supervision tree for drawing: leaves side by side in spec order, each parent centred over
 * its children, one row per generation. Pure: nodes in, positioned nodes and edges out.
 */
export const nodeWidth = 168;
export const nodeHeight = 64;
const gapX = 16;
const gapY = 40;

export const layoutTree = (root) => {
  const placed = [];
  const edges = [];
  let nextLeaf = 0;
  const place = (node, depth) => {
    const children = node.children.map((child) => place(child, depth + 1));
    const x =
      children.length === 0
        ? nextLeaf++ * (nodeWidth + gapX)
        : (children[0].x + children[children.length - 1].x) / 2;
    const y = depth * (nodeHeight + gapY);
    const at = { node, x, y };
    placed.push(at);
    for (const child of children) edges.push({ from: at, to: child });
    return at;
  };
  place(root, 0);
  const width = Math.max(...placed.map((p) => p.x)) + nodeWidth;
  const height = Math.max(...placed.map((p) => p.y)) + nodeHeight;
  return { nodes: placed, edges, width, height };
};
