// An intrusive doubly linked list of waiters: push, shift and unlink from anywhere are O(1),
// so a cancelled wait leaves without a scan, and a node knows whether it is still queued.

export interface QueueWaiterNode {
  prev: this | undefined;
  next: this | undefined;
  /** True while the node is in a list. */
  linked: boolean;
}

export class QueueWaiterList<N extends QueueWaiterNode> {
  head: N | undefined = undefined;
  tail: N | undefined = undefined;
  length = 0;

  push(node: N): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    node.linked = true;
    this.length++;
  }

  /** Removes and returns the head, or undefined when empty. */
  shift(): N | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Unlinks `node`; a node that is not linked is left alone. */
  remove(node: N): void {
    if (!node.linked) return;
    const { prev, next } = node;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    node.prev = undefined;
    node.next = undefined;
    node.linked = false;
    this.length--;
  }
}
