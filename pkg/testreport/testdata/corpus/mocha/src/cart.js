'use strict';

const fs = require('fs');
const path = require('path');

function total(items, discountPct) {
  let sum = 0;
  for (const it of items) sum += it.price * it.quantity;
  if (discountPct > 50) sum -= Math.floor((sum * discountPct) / 100); // bug: applied twice
  return sum - Math.floor((sum * discountPct) / 100);
}

function receipt(order) {
  return `Order ${order.id}: ${order.customer.name}`; // bug: guest orders have no customer
}

// saveReceipt writes the receipt of order under dir.
function saveReceipt(order, dir) {
  const file = path.join(dir, `receipt-${order.id}.txt`);
  fs.writeFileSync(file, receipt(order)); // bug with CORPUS_TMP: dir is never made
  return file;
}

module.exports = { total, receipt, saveReceipt };
