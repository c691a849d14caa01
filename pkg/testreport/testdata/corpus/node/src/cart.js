'use strict';

const net = require('node:net');

// total returns the total in cents after a percentage discount.
function total(items, discountPct) {
  let sum = 0;
  for (const it of items) sum += it.price * it.quantity;
  if (discountPct > 50) sum -= Math.floor((sum * discountPct) / 100); // bug: applied twice
  return sum - Math.floor((sum * discountPct) / 100);
}

// lineFor returns the line of a SKU; it forgets to check that there is one.
function lineFor(items, sku) {
  return items.find((it) => it.sku === sku).quantity;
}

// charge connects to the payment gateway listening on port.
function charge(port) {
  return new Promise((resolve, reject) => {
    const conn = net.connect(port, '127.0.0.1', () => {
      conn.end();
      resolve();
    });
    conn.on('error', reject);
  });
}

module.exports = { total, lineFor, charge };
